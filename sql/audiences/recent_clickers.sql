-- export-campaign "winback" (time-based): users who clicked an email in the 7 days before the run's
-- :now. Re-evaluated every run with that run's :now, so members enter as they click and leave a week later.
SELECT DISTINCT
    u.email,
    u.first_name
FROM users AS u
JOIN responsys_events AS e ON e.customer_id = u.customer_id
WHERE e.event_type = 'CLICK'
  AND e.event_captured_at >= strftime('%Y-%m-%dT%H:%M:%SZ', :now, '-7 days')
  AND e.event_captured_at <= :now;
