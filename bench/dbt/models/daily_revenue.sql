{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_date') }}
-- Recomputes every day that received a row since the last run.
SELECT order_date, COUNT(*) AS events, COUNT(DISTINCT order_id) AS orders, COUNT(DISTINCT customer_id) AS customers,
  SUM(amount) AS revenue, MAX(updated_at) AS updated_at
FROM {{ source('raw', 'orders') }}
{% if is_incremental() %}
WHERE order_date >= (SELECT min(order_date) FROM {{ source('raw', 'orders') }}
                     WHERE updated_at > (SELECT max(updated_at) FROM {{ this }}))
{% endif %}
GROUP BY order_date
