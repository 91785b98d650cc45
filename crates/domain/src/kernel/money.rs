//! Money: `i64` minor units with an ISO 4217 currency. No floats anywhere.
//!
//! Allocation splits an amount across parts by integer weights with the largest-remainder
//! method: the parts always add up to the whole, no cent is lost or created.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An ISO 4217 currency with its number of minor-unit digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// Currencies Cuspid knows the minor units of. Others are refused rather than guessed.
const KNOWN: &[(&str, u8)] = &[
    ("USD", 2),
    ("CAD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("CHF", 2),
    ("AUD", 2),
    ("NZD", 2),
    ("MXN", 2),
    ("BRL", 2),
    ("MAD", 2),
    ("DZD", 2),
    ("TND", 3),
    ("XOF", 0),
    ("XAF", 0),
    ("JPY", 0),
    ("SEK", 2),
    ("NOK", 2),
    ("DKK", 2),
    ("PLN", 2),
    ("INR", 2),
    ("AED", 2),
    ("SAR", 2),
    ("KWD", 3),
    ("BHD", 3),
    ("ZAR", 2),
];

impl Currency {
    pub const USD: Currency = Currency {
        code: *b"USD",
        exponent: 2,
    };
    pub const CAD: Currency = Currency {
        code: *b"CAD",
        exponent: 2,
    };
    pub const EUR: Currency = Currency {
        code: *b"EUR",
        exponent: 2,
    };

    /// Looks up a currency by its ISO code (case-insensitive).
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        KNOWN
            .iter()
            .find(|(c, _)| *c == upper)
            .and_then(|(c, e)| {
                let b = c.as_bytes();
                Some(Currency {
                    code: [*b.first()?, *b.get(1)?, *b.get(2)?],
                    exponent: *e,
                })
            })
            .ok_or(MoneyError::UnknownCurrency(upper))
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// Number of digits after the decimal separator (2 for USD, 0 for JPY, 3 for KWD).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    fn scale(&self) -> i64 {
        10_i64.pow(u32::from(self.exponent))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::from_code(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(String, String),
    #[error("amount out of range")]
    Overflow,
    #[error("not an amount: {0:?}")]
    Parse(String),
    #[error("allocation needs at least one part with a positive weight")]
    NoWeights,
}

/// An amount of money in minor units.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    pub const fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    fn same(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(
                self.currency.to_string(),
                other.currency.to_string(),
            ))
        }
    }

    pub fn checked_add(&self, other: Money) -> Result<Money, MoneyError> {
        self.same(&other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..*self })
    }

    pub fn checked_sub(&self, other: Money) -> Result<Money, MoneyError> {
        self.same(&other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..*self })
    }

    pub fn checked_neg(&self) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_neg().ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..*self })
    }

    /// Sums amounts of one currency.
    pub fn sum<I: IntoIterator<Item = Money>>(
        currency: Currency,
        items: I,
    ) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }

    /// Splits this amount across parts by integer weights (largest remainder). The parts sum
    /// exactly to `self`; a part with weight 0 gets 0; ties go to the earlier part.
    pub fn allocate(&self, weights: &[u64]) -> Result<Vec<Money>, MoneyError> {
        let total: u128 = weights.iter().map(|w| u128::from(*w)).sum();
        if total == 0 {
            return Err(MoneyError::NoWeights);
        }
        let negative = self.minor < 0;
        let whole = u128::from(self.minor.unsigned_abs());
        let mut parts: Vec<u128> = Vec::with_capacity(weights.len());
        let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
        for (i, w) in weights.iter().enumerate() {
            let num = whole * u128::from(*w);
            parts.push(num / total);
            remainders.push((num % total, i));
        }
        let given: u128 = parts.iter().sum();
        let mut left = whole - given;
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (rem, i) in remainders {
            if left == 0 {
                break;
            }
            if rem == 0 {
                continue;
            }
            if let Some(p) = parts.get_mut(i) {
                *p += 1;
                left -= 1;
            }
        }
        parts
            .into_iter()
            .map(|p| {
                let v = i64::try_from(p).map_err(|_| MoneyError::Overflow)?;
                Ok(Money {
                    minor: if negative { -v } else { v },
                    currency: self.currency,
                })
            })
            .collect()
    }

    /// Splits evenly into `n` parts; the first parts get the extra cents.
    pub fn split_even(&self, n: usize) -> Result<Vec<Money>, MoneyError> {
        self.allocate(&vec![1; n])
    }

    /// Parses a decimal amount such as `"125.50"` or `"-3"` in the given currency.
    /// More fraction digits than the currency has is an error, never a silent rounding.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let err = || MoneyError::Parse(text.to_string());
        let t = text.trim().replace([',', ' ', '\u{a0}'], "");
        let (neg, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.as_str()),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(err());
        }
        if !int_part.chars().all(|c| c.is_ascii_digit())
            || !frac_part.chars().all(|c| c.is_ascii_digit())
            || frac_part.len() > usize::from(currency.exponent)
        {
            return Err(err());
        }
        let int_val: i64 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| MoneyError::Overflow)?
        };
        let mut frac = frac_part.to_string();
        while frac.len() < usize::from(currency.exponent) {
            frac.push('0');
        }
        let frac_val: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| err())?
        };
        let minor = int_val
            .checked_mul(currency.scale())
            .and_then(|v| v.checked_add(frac_val))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money {
            minor: if neg { -minor } else { minor },
            currency,
        })
    }
}

impl fmt::Display for Money {
    /// Plain decimal with the ISO code: `-1234.50 USD`. Locale formatting happens at the edge.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let scale = self.currency.scale().unsigned_abs();
        if self.currency.exponent == 0 {
            write!(f, "{sign}{abs} {}", self.currency)
        } else {
            write!(
                f,
                "{sign}{}.{:0width$} {}",
                abs / scale,
                abs % scale,
                self.currency,
                width = usize::from(self.currency.exponent)
            )
        }
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(m: i64) -> Money {
        Money::from_minor(m, Currency::USD)
    }

    #[test]
    fn allocation_of_a_dollar_in_three() {
        let parts = usd(100).split_even(3).unwrap();
        assert_eq!(parts, vec![usd(34), usd(33), usd(33)]);
        let parts = usd(-100).split_even(3).unwrap();
        assert_eq!(parts, vec![usd(-34), usd(-33), usd(-33)]);
    }

    #[test]
    fn allocation_by_weights_and_zero_weights() {
        // A $1,000.00 crown, 80 % insurance / 20 % patient.
        let parts = usd(100_000).allocate(&[80, 20]).unwrap();
        assert_eq!(parts, vec![usd(80_000), usd(20_000)]);
        let parts = usd(5).allocate(&[0, 1, 1]).unwrap();
        assert_eq!(parts, vec![usd(0), usd(3), usd(2)]);
        assert_eq!(usd(5).allocate(&[0, 0]), Err(MoneyError::NoWeights));
        assert_eq!(usd(5).allocate(&[]), Err(MoneyError::NoWeights));
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(Money::parse("125.5", Currency::USD).unwrap(), usd(12_550));
        assert_eq!(Money::parse("-0.07", Currency::USD).unwrap(), usd(-7));
        assert_eq!(
            Money::parse("1,250.00", Currency::USD).unwrap(),
            usd(125_000)
        );
        assert!(Money::parse("1.005", Currency::USD).is_err());
        assert!(Money::parse("abc", Currency::USD).is_err());
        assert!(Money::parse("", Currency::USD).is_err());
        assert!(Money::parse("99999999999999999999", Currency::USD).is_err());
        let jpy = Currency::from_code("jpy").unwrap();
        assert_eq!(Money::from_minor(1500, jpy).to_string(), "1500 JPY");
        assert!(Money::parse("1.5", jpy).is_err());
        assert_eq!(usd(-123_405).to_string(), "-1234.05 USD");
        let kwd = Currency::from_code("KWD").unwrap();
        assert_eq!(Money::from_minor(1_005, kwd).to_string(), "1.005 KWD");
        assert!(Currency::from_code("ZZZ").is_err());
    }

    #[test]
    fn currencies_never_mix() {
        let cad = Money::from_minor(1, Currency::CAD);
        assert!(matches!(
            usd(1).checked_add(cad),
            Err(MoneyError::CurrencyMismatch(_, _))
        ));
        assert_eq!(usd(i64::MAX).checked_add(usd(1)), Err(MoneyError::Overflow));
        let json = serde_json::to_string(&usd(250)).unwrap();
        assert_eq!(json, r#"{"minor":250,"currency":"USD"}"#);
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, usd(250));
    }

    proptest! {
        #[test]
        fn allocation_never_loses_or_creates_a_cent(
            amount in -1_000_000_000_000i64..1_000_000_000_000i64,
            weights in proptest::collection::vec(0u64..10_000, 1..12),
        ) {
            prop_assume!(weights.iter().any(|w| *w > 0));
            let parts = usd(amount).allocate(&weights).unwrap();
            prop_assert_eq!(parts.len(), weights.len());
            let total: i64 = parts.iter().map(|p| p.minor()).sum();
            prop_assert_eq!(total, amount);
            for (p, w) in parts.iter().zip(&weights) {
                if *w == 0 { prop_assert_eq!(p.minor(), 0); }
                // every part has the sign of the whole
                prop_assert!(p.minor() == 0 || (p.minor() < 0) == (amount < 0));
            }
        }

        #[test]
        fn display_then_parse_round_trips(amount in any::<i64>().prop_filter("neg of min", |a| *a != i64::MIN)) {
            let m = usd(amount);
            let text = m.to_string();
            let number = text.trim_end_matches(" USD");
            prop_assert_eq!(Money::parse(number, Currency::USD).unwrap(), m);
        }
    }
}
