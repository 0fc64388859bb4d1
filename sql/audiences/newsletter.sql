-- export-users "newsletter": every user who can still be emailed, with the fields Responsys templates use
-- and two audience flags. Users who opted out or hard-bounced (from the imported events) are left out,
-- so they exit the audience and are removed from the list (on_exit = "delete").
SELECT
    u.email,
    u.first_name,
    u.last_name,
    u.city,
    1 AS newsletter,
    u.high_value AS high_value
FROM users AS u
WHERE u.customer_id NOT IN (
    SELECT customer_id FROM responsys_events
    WHERE event_type IN ('OPT_OUT', 'BOUNCE') AND customer_id IS NOT NULL
);
