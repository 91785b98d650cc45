//! Card payments: what a charge carries, what comes back, the [`CardGateway`] trait, and
//! [`ManualTerminal`] for a stand-alone terminal whose authorization code the front desk types.
//!
//! Cuspid never sees a card number. A gateway charge carries a token made by the browser's card
//! form (for Stripe a PaymentMethod id such as `pm_card_visa`), and every charge and refund
//! carries the caller's idempotency key, so that trying again after [`CardError::Unavailable`]
//! cannot charge the patient twice.

use std::fmt;

use crate::BoxFuture;

/// One card payment to take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardCharge {
    /// The amount in the currency's minor unit (cents for USD); more than zero.
    pub amount_minor: i64,
    /// The ISO 4217 code, in either case (`usd` or `USD`); gateways are sent it lowercase.
    pub currency: String,
    /// A token for the card made by the browser's card form (e.g. `pm_card_visa`), or for
    /// [`ManualTerminal`] the terminal's authorization code. Never a card number.
    pub payment_method: String,
    /// What the payment is for, as the cardholder's statement and the gateway's dashboard show
    /// it; may be empty.
    pub description: String,
    /// The caller's key for this payment: the same key on a retry, a new key for a new payment.
    pub idempotency_key: String,
    /// Extra facts stored with the payment at the gateway (e.g. the posting's id).
    pub metadata: Vec<(String, String)>,
}

/// A payment that went through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardReceipt {
    /// The gateway's identifier of the payment (Stripe's `pi_…`, or `manual:<code>`): what a
    /// refund names.
    pub gateway_id: String,
    /// The gateway's identifier of the charge itself (Stripe's `ch_…`), when it has one.
    pub charge_id: Option<String>,
    /// The amount taken, in the minor unit.
    pub amount_minor: i64,
    /// The ISO 4217 code in lowercase.
    pub currency: String,
    /// The card's network as the gateway names it (`visa`, `mastercard`, …), when known.
    pub brand: Option<String>,
    /// The card number's last four digits, when known.
    pub last4: Option<String>,
}

/// A refund the gateway accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardRefund {
    /// The gateway's identifier of the refund (Stripe's `re_…`, or `manual-refund:<code>`).
    pub gateway_id: String,
    /// The amount given back, in the minor unit.
    pub amount_minor: i64,
}

/// Why a card payment or refund did not go through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardError {
    /// The card's issuer or the gateway declined the card.
    Declined {
        /// The gateway's error code, e.g. Stripe's `card_declined` or `expired_card`.
        code: String,
        /// The issuer's reason when the gateway gives one, e.g. `insufficient_funds`.
        decline_code: Option<String>,
        /// The gateway's explanation, fit to show the cardholder.
        message: String,
    },
    /// The payment needs the cardholder to authenticate (3-D Secure and the like), which is not
    /// supported at the chair: the caller shows a message and takes the payment another way.
    RequiresAction {
        /// The gateway's identifier of the unfinished payment.
        gateway_id: String,
    },
    /// Refused before reaching the gateway, or by the gateway as a bad request (an unknown
    /// token, a refund over what is left, an idempotency key reused for another payment, a key
    /// the gateway does not accept): the same request will fail again.
    Invalid(String),
    /// The gateway could not be reached, timed out or answered "later" (HTTP 5xx, 408, 429): it
    /// is safe to try again with the same idempotency key.
    Unavailable(String),
}

impl CardError {
    /// True when trying again, with the same idempotency key, can help.
    pub fn is_retryable(&self) -> bool {
        matches!(self, CardError::Unavailable(_))
    }
}

impl fmt::Display for CardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardError::Declined { message, .. } => write!(f, "the card was declined: {message}"),
            CardError::RequiresAction { .. } => f.write_str(
                "the card needs the cardholder to confirm the payment with their bank, which \
                 cannot be done here; take the payment another way",
            ),
            CardError::Invalid(m) => write!(f, "the card payment was refused: {m}"),
            CardError::Unavailable(m) => {
                write!(f, "the card gateway is unavailable, try again: {m}")
            }
        }
    }
}

impl std::error::Error for CardError {}

/// Takes and refunds card payments.
pub trait CardGateway: Send + Sync {
    /// Takes the payment `c`; with the same [`CardCharge::idempotency_key`] a retry returns the
    /// first attempt's outcome instead of charging again.
    fn charge<'a>(&'a self, c: &'a CardCharge) -> BoxFuture<'a, Result<CardReceipt, CardError>>;
    /// Gives back `amount_minor` of the payment `gateway_id` (a [`CardReceipt::gateway_id`]).
    fn refund<'a>(
        &'a self,
        gateway_id: &'a str,
        amount_minor: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardRefund, CardError>>;
    /// A short name for logs and the admin screens, e.g. `stripe`.
    fn name(&self) -> &'static str;
}

/// Checks what every gateway checks before sending anything: a positive amount and a
/// three-letter currency. Returns the currency in lowercase.
pub(crate) fn check_amount_and_currency(
    amount_minor: i64,
    currency: &str,
) -> Result<String, CardError> {
    check_amount(amount_minor)?;
    let currency = currency.trim();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(CardError::Invalid(
            "the currency must be a three-letter ISO 4217 code such as USD".into(),
        ));
    }
    Ok(currency.to_ascii_lowercase())
}

/// Checks that an amount to charge or refund is more than zero.
pub(crate) fn check_amount(amount_minor: i64) -> Result<(), CardError> {
    if amount_minor <= 0 {
        return Err(CardError::Invalid(
            "the amount must be more than zero".into(),
        ));
    }
    Ok(())
}

/// The longest authorization code [`ManualTerminal`] accepts.
const MAX_AUTH_CODE: usize = 32;

fn check_auth_code(code: &str) -> Result<&str, CardError> {
    let code = code.trim();
    if code.is_empty()
        || code.len() > MAX_AUTH_CODE
        || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(CardError::Invalid(format!(
            "the terminal's authorization code must be 1 to {MAX_AUTH_CODE} letters, digits or \
             hyphens"
        )));
    }
    Ok(code)
}

/// A stand-alone card terminal: the payment is taken on the terminal, and the front desk types
/// its authorization code as [`CardCharge::payment_method`]. Nothing is sent anywhere; the
/// receipt records the code (`manual:<code>`) and has no brand or last four digits.
///
/// A refund is made on the terminal too: [`CardGateway::refund`] only records it against the
/// payment's `manual:<code>` and cannot know what the terminal has left to refund.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ManualTerminal;

impl ManualTerminal {
    fn take(c: &CardCharge) -> Result<CardReceipt, CardError> {
        let currency = check_amount_and_currency(c.amount_minor, &c.currency)?;
        let code = check_auth_code(&c.payment_method)?;
        Ok(CardReceipt {
            gateway_id: format!("manual:{code}"),
            charge_id: None,
            amount_minor: c.amount_minor,
            currency,
            brand: None,
            last4: None,
        })
    }

    fn give_back(gateway_id: &str, amount_minor: i64) -> Result<CardRefund, CardError> {
        check_amount(amount_minor)?;
        let Some(code) = gateway_id.trim().strip_prefix("manual:") else {
            return Err(CardError::Invalid(
                "only a payment taken on the terminal (manual:…) can be refunded here".into(),
            ));
        };
        let code = check_auth_code(code)?;
        Ok(CardRefund {
            gateway_id: format!("manual-refund:{code}"),
            amount_minor,
        })
    }
}

impl CardGateway for ManualTerminal {
    fn charge<'a>(&'a self, c: &'a CardCharge) -> BoxFuture<'a, Result<CardReceipt, CardError>> {
        let result = ManualTerminal::take(c);
        match &result {
            Ok(r) => tracing::info!(
                gateway_id = %r.gateway_id,
                amount_minor = r.amount_minor,
                currency = %r.currency,
                "card payment recorded from the terminal"
            ),
            Err(e) => tracing::warn!(error = %e, "card payment from the terminal refused"),
        }
        Box::pin(std::future::ready(result))
    }

    fn refund<'a>(
        &'a self,
        gateway_id: &'a str,
        amount_minor: i64,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardRefund, CardError>> {
        let result = ManualTerminal::give_back(gateway_id, amount_minor);
        match &result {
            Ok(r) => tracing::info!(
                gateway_id = %r.gateway_id,
                amount_minor = r.amount_minor,
                "card refund recorded from the terminal"
            ),
            Err(e) => tracing::warn!(error = %e, "card refund from the terminal refused"),
        }
        Box::pin(std::future::ready(result))
    }

    fn name(&self) -> &'static str {
        "manual"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_and_display() {
        let u = CardError::Unavailable("the card gateway answered 503".into());
        assert!(u.is_retryable());
        assert_eq!(
            u.to_string(),
            "the card gateway is unavailable, try again: the card gateway answered 503"
        );
        let d = CardError::Declined {
            code: "card_declined".into(),
            decline_code: Some("insufficient_funds".into()),
            message: "Your card has insufficient funds.".into(),
        };
        assert!(!d.is_retryable());
        assert_eq!(
            d.to_string(),
            "the card was declined: Your card has insufficient funds."
        );
        let a = CardError::RequiresAction {
            gateway_id: "pi_123".into(),
        };
        assert!(!a.is_retryable());
        assert!(!a.to_string().contains("pi_123"));
        assert!(!CardError::Invalid("x".into()).is_retryable());
    }

    #[test]
    fn amount_and_currency_are_checked() {
        assert_eq!(
            check_amount_and_currency(1, " USD ").ok().as_deref(),
            Some("usd")
        );
        assert_eq!(
            check_amount_and_currency(1, "eur").ok().as_deref(),
            Some("eur")
        );
        for (amount, currency) in [(0, "usd"), (-1, "usd"), (1, "US"), (1, "usdx"), (1, "u$d")] {
            assert!(
                matches!(
                    check_amount_and_currency(amount, currency),
                    Err(CardError::Invalid(_))
                ),
                "{amount} {currency}"
            );
        }
    }

    #[test]
    fn auth_codes_are_checked() {
        assert_eq!(check_auth_code(" A1-b2 ").ok(), Some("A1-b2"));
        assert!(check_auth_code(&"A".repeat(32)).is_ok());
        for bad in ["", "  ", "AB 12", "AB_12", "ÄB12", &"A".repeat(33)] {
            assert!(check_auth_code(bad).is_err(), "{bad:?}");
        }
    }
}
