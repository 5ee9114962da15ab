{{ config(materialized='incremental', incremental_strategy='append') }}
-- Append-only feed of refund events.
SELECT order_id, version, order_date, updated_at, amount FROM {{ source('raw', 'orders') }}
WHERE status = 'refunded'
{% if is_incremental() %}
  AND updated_at > (SELECT max(updated_at) FROM {{ this }})
{% endif %}
