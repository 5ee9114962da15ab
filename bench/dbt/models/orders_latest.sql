{{ config(materialized='incremental', incremental_strategy='merge', unique_key='order_id') }}
-- Latest version per order; merges the orders that received a new version since the last run.
SELECT order_id, version, order_date, updated_at, customer_id, product_id, quantity, amount, status
FROM {{ source('raw', 'orders') }}
{% if is_incremental() %}
WHERE updated_at > (SELECT max(updated_at) FROM {{ this }})
{% endif %}
QUALIFY row_number() OVER (PARTITION BY order_id, order_date ORDER BY version DESC) = 1
