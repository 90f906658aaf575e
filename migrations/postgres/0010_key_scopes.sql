-- What an API key may do (see `auth::scope`): `kiosk` (the totem's self check-in), `panel` (the
-- TV panel's calls and queue, without patients' contact data) or `integration` (a full staff
-- credential without master rights). Keys made before scopes existed were full credentials:
-- they stay `integration`.
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'integration';
