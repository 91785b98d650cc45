-- Automatic installments: a payment plan may keep the card gateway's token of a card the
-- patient agreed to have charged; a daily job charges what falls due. The last failure is
-- kept to show (and a billing task is made for it).

ALTER TABLE payment_plans ADD COLUMN autopay_token TEXT;
ALTER TABLE payment_plans ADD COLUMN autopay_error TEXT;
