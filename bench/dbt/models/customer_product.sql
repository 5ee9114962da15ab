{{ config(materialized='incremental', incremental_strategy='merge', unique_key=['customer_id', 'product_id']) }}
-- Recomputes the (customer, product) groups that received an order or whose product changed since the last run.
{% if is_incremental() %}
WITH since AS (SELECT max(updated_at) AS ts FROM {{ this }}),
k AS (
  SELECT DISTINCT customer_id, product_id FROM {{ source('raw', 'orders') }} WHERE updated_at > (SELECT ts FROM since)
  UNION
  SELECT customer_id, product_id FROM {{ this }}
  WHERE product_id IN (SELECT product_id FROM {{ source('raw', 'products') }} WHERE updated_at > (SELECT ts FROM since)))
{% endif %}
SELECT o.customer_id, o.product_id, p.product_name, p.category, COUNT(*) AS events, SUM(o.quantity) AS quantity,
  SUM(o.amount) AS revenue, greatest(MAX(o.updated_at), MAX(p.updated_at)) AS updated_at
FROM {{ source('raw', 'orders') }} o
{% if is_incremental() %}
SEMI JOIN k ON k.customer_id = o.customer_id AND k.product_id = o.product_id
{% endif %}
JOIN {{ source('raw', 'products') }} p ON p.product_id = o.product_id
GROUP BY o.customer_id, o.product_id, p.product_name, p.category
