-- export-campaign "welcome": users who signed up in the last 7 days before the run's :now.
SELECT email, first_name
FROM users
WHERE signed_up_at >= strftime('%Y-%m-%dT%H:%M:%SZ', :now, '-7 days');
