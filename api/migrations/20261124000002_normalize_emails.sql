-- Emails are compared in Unicode NFC from this release on (sign-up and sign-in normalise
-- them). Rewrite stored ones that are not, one per address; a row whose NFC form another
-- row already holds is left as it is (its owner still signs in with that spelling).
SET LOCAL lock_timeout = '5s';
UPDATE users AS u SET email = normalize(u.email, NFC)
FROM (
    SELECT DISTINCT ON (lower(normalize(email, NFC))) id
    FROM users
    WHERE email IS NOT NFC NORMALIZED
    ORDER BY lower(normalize(email, NFC)), created_at
) AS first
WHERE u.id = first.id
  AND NOT EXISTS (
      SELECT 1 FROM users AS o
      WHERE o.id <> u.id AND lower(o.email) = lower(normalize(u.email, NFC))
  );
