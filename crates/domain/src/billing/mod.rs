//! The books of a practice: immutable postings, each a balanced double entry; the patient's
//! account (balance and aging) computed from them; payments split across what is owed.
//!
//! Amounts are `i64` minor units of one currency (a ledger never mixes currencies: a posting
//! in another currency is refused before it is built). Corrections are reversals, never edits.

pub mod amortize;
pub mod fees;
pub mod invoice;

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::kernel::error::DomainError;

/// An account of the practice's books. The patient's receivable is kept per patient (the
/// sub-ledger); every other account is the practice's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Account {
    /// What patients owe (debit balance) — per patient in [`Line::party`].
    Receivable,
    /// Production: fees charged for completed work.
    Revenue,
    /// Contra-revenue: discounts given.
    Discounts,
    /// Amounts the practice gave up (bad debt, insurance write-offs).
    WriteOffs,
    /// Other corrections of what a patient owes, up or down.
    Adjustments,
    /// Money received, by method.
    Cash(Method),
    /// Money received before it is owed (a liability until applied).
    PatientCredit,
    /// Sales tax charged on invoices, owed to the tax authority (a liability).
    TaxPayable,
}

impl Account {
    pub fn code(&self) -> String {
        match self {
            Account::Receivable => "receivable".into(),
            Account::Revenue => "revenue".into(),
            Account::Discounts => "discounts".into(),
            Account::WriteOffs => "write_offs".into(),
            Account::Adjustments => "adjustments".into(),
            Account::Cash(m) => format!("cash.{}", m.code()),
            Account::PatientCredit => "patient_credit".into(),
            Account::TaxPayable => "tax_payable".into(),
        }
    }

    pub fn from_code(code: &str) -> Option<Account> {
        Some(match code {
            "receivable" => Account::Receivable,
            "revenue" => Account::Revenue,
            "discounts" => Account::Discounts,
            "write_offs" => Account::WriteOffs,
            "adjustments" => Account::Adjustments,
            "patient_credit" => Account::PatientCredit,
            "tax_payable" => Account::TaxPayable,
            c => Account::Cash(Method::from_code(c.strip_prefix("cash.")?)?),
        })
    }
}

/// How money came in or went out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Cash,
    Card,
    Cheque,
    BankTransfer,
    Insurance,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Cash,
        Method::Card,
        Method::Cheque,
        Method::BankTransfer,
        Method::Insurance,
    ];

    pub fn code(&self) -> &'static str {
        match self {
            Method::Cash => "cash",
            Method::Card => "card",
            Method::Cheque => "cheque",
            Method::BankTransfer => "bank_transfer",
            Method::Insurance => "insurance",
        }
    }

    pub fn from_code(code: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.code() == code)
    }
}

/// What a posting records. Every amount here is positive; the kind says which way it goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A fee for completed work: the patient owes it.
    Charge { amount: i64 },
    /// Tax on an invoice: the patient owes it, the practice owes it on to the tax authority.
    Tax { amount: i64 },
    /// Money received against what the patient owes.
    Payment { amount: i64, method: Method },
    /// Money received before anything is owed: the patient's credit.
    Prepayment { amount: i64, method: Method },
    /// Credit on account used to pay what is owed.
    ApplyCredit { amount: i64 },
    /// Less to pay, by decision (a reason and a permission in the store).
    Discount { amount: i64 },
    /// Given up (bad debt, what insurance will not pay and the patient is not billed).
    WriteOff { amount: i64 },
    /// A correction: `up` the patient owes more, otherwise less.
    Adjustment { amount: i64, up: bool },
    /// Money given back from what was paid.
    Refund { amount: i64, method: Method },
    /// Money given back from the patient's credit.
    CreditRefund { amount: i64, method: Method },
    /// What one family member owes moved to another (the `party` of the posting owes less,
    /// `to` owes more).
    Transfer { amount: i64, to: uuid::Uuid },
}

impl Entry {
    pub fn amount(&self) -> i64 {
        match self {
            Entry::Charge { amount }
            | Entry::Tax { amount }
            | Entry::Payment { amount, .. }
            | Entry::Prepayment { amount, .. }
            | Entry::ApplyCredit { amount }
            | Entry::Discount { amount }
            | Entry::WriteOff { amount }
            | Entry::Adjustment { amount, .. }
            | Entry::Refund { amount, .. }
            | Entry::CreditRefund { amount, .. }
            | Entry::Transfer { amount, .. } => *amount,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Entry::Charge { .. } => "charge",
            Entry::Tax { .. } => "tax",
            Entry::Payment { .. } => "payment",
            Entry::Prepayment { .. } => "prepayment",
            Entry::ApplyCredit { .. } => "apply_credit",
            Entry::Discount { .. } => "discount",
            Entry::WriteOff { .. } => "write_off",
            Entry::Adjustment { .. } => "adjustment",
            Entry::Refund { .. } => "refund",
            Entry::CreditRefund { .. } => "credit_refund",
            Entry::Transfer { .. } => "transfer",
        }
    }

    /// The double entry for a patient (`party`): debits positive, credits negative, summing to
    /// zero. Refused: a zero or negative amount, a transfer to the same patient.
    pub fn lines(&self, party: uuid::Uuid) -> Result<Vec<Line>, DomainError> {
        let a = self.amount();
        if a <= 0 {
            return Err(DomainError::field(
                "amount",
                "must be more than zero (a correction is a reversal or an adjustment)",
            ));
        }
        let ar = |amount: i64| Line {
            account: Account::Receivable,
            party: Some(party),
            amount,
        };
        let book = |account: Account, amount: i64| Line {
            account,
            party: None,
            amount,
        };
        let credit = |amount: i64| Line {
            account: Account::PatientCredit,
            party: Some(party),
            amount,
        };
        Ok(match *self {
            Entry::Charge { .. } => vec![ar(a), book(Account::Revenue, -a)],
            Entry::Tax { .. } => vec![ar(a), book(Account::TaxPayable, -a)],
            Entry::Payment { method, .. } => vec![book(Account::Cash(method), a), ar(-a)],
            Entry::Prepayment { method, .. } => vec![book(Account::Cash(method), a), credit(-a)],
            Entry::ApplyCredit { .. } => vec![credit(a), ar(-a)],
            Entry::Discount { .. } => vec![book(Account::Discounts, a), ar(-a)],
            Entry::WriteOff { .. } => vec![book(Account::WriteOffs, a), ar(-a)],
            Entry::Adjustment { up: true, .. } => vec![ar(a), book(Account::Adjustments, -a)],
            Entry::Adjustment { up: false, .. } => vec![book(Account::Adjustments, a), ar(-a)],
            Entry::Refund { method, .. } => vec![ar(a), book(Account::Cash(method), -a)],
            Entry::CreditRefund { method, .. } => vec![credit(a), book(Account::Cash(method), -a)],
            Entry::Transfer { to, .. } => {
                if to == party {
                    return Err(DomainError::field(
                        "to",
                        "a transfer goes to another family member",
                    ));
                }
                vec![
                    Line {
                        account: Account::Receivable,
                        party: Some(to),
                        amount: a,
                    },
                    ar(-a),
                ]
            }
        })
    }
}

/// One side of a double entry: a debit (positive) or a credit (negative) on an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub account: Account,
    /// The patient, for the per-patient accounts (receivable, credit).
    pub party: Option<uuid::Uuid>,
    pub amount: i64,
}

/// The lines of a posting that undoes another: every line negated.
pub fn reversal(lines: &[Line]) -> Vec<Line> {
    lines
        .iter()
        .map(|l| Line {
            amount: -l.amount,
            ..l.clone()
        })
        .collect()
}

/// Whether a set of lines balances (debits equal credits), without overflow.
pub fn balanced(lines: &[Line]) -> bool {
    lines
        .iter()
        .try_fold(0i64, |acc, l| acc.checked_add(l.amount))
        == Some(0)
}

/// What is wrong with a ledger, found by [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerFault {
    /// A posting whose lines do not sum to zero.
    Unbalanced { posting: usize, sum: i128 },
    /// The trial balance (all lines) is not zero.
    TrialBalance { sum: i128 },
}

/// Checks every posting balances and so does the whole (sums in 128 bits: no overflow hides
/// a fault).
pub fn verify<'a, I>(postings: I) -> Vec<LedgerFault>
where
    I: IntoIterator<Item = &'a [Line]>,
{
    let mut faults = Vec::new();
    let mut total: i128 = 0;
    for (i, lines) in postings.into_iter().enumerate() {
        let sum: i128 = lines.iter().map(|l| i128::from(l.amount)).sum();
        if sum != 0 {
            faults.push(LedgerFault::Unbalanced { posting: i, sum });
        }
        total += sum;
    }
    if total != 0 {
        faults.push(LedgerFault::TrialBalance { sum: total });
    }
    faults
}

/// Per account (and party), the sum of the lines: the trial balance.
pub fn trial_balance<'a, I>(lines: I) -> BTreeMap<(String, Option<uuid::Uuid>), i128>
where
    I: IntoIterator<Item = &'a Line>,
{
    let mut out = BTreeMap::new();
    for l in lines {
        *out.entry((l.account.code(), l.party)).or_insert(0) += i128::from(l.amount);
    }
    out
}

/// A movement of one patient's receivable, for their account: `amount` positive when they
/// owe more (a charge, a refund), negative when they owe less (a payment, a discount).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Movement {
    pub on: Date,
    pub amount: i64,
}

/// The aging buckets, by how long ago the work was charged: 0–30 days, 31–60, 61–90, 91–120
/// and over 120 ("current, 30, 60, 90, 90+"). A credit balance sits in `current` (negative).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Aging {
    pub current: i64,
    pub over_30: i64,
    pub over_60: i64,
    pub over_90: i64,
    pub over_120: i64,
}

impl Aging {
    pub fn total(&self) -> i64 {
        self.current + self.over_30 + self.over_60 + self.over_90 + self.over_120
    }

    fn add(&mut self, age_days: i64, amount: i64) {
        let b = match age_days {
            ..=30 => &mut self.current,
            31..=60 => &mut self.over_30,
            61..=90 => &mut self.over_60,
            91..=120 => &mut self.over_90,
            _ => &mut self.over_120,
        };
        *b += amount;
    }

    /// Sums accounts (a family under its guarantor).
    pub fn plus(&self, o: &Aging) -> Aging {
        Aging {
            current: self.current + o.current,
            over_30: self.over_30 + o.over_30,
            over_60: self.over_60 + o.over_60,
            over_90: self.over_90 + o.over_90,
            over_120: self.over_120 + o.over_120,
        }
    }
}

/// A patient's account as of a day: every movement on or before it counts. Credits pay the
/// oldest debts first (first in, first out); what they leave over is a credit balance (in
/// `current`), which later debts use up first. The buckets always sum to the balance, which
/// is the sum of the movements.
pub fn aging(movements: &[Movement], as_of: Date) -> Aging {
    let mut ms: Vec<Movement> = movements
        .iter()
        .filter(|m| m.on <= as_of)
        .copied()
        .collect();
    ms.sort_by_key(|m| m.on);
    // Open debts, oldest first: (day, amount left).
    let mut debts: std::collections::VecDeque<(Date, i64)> = std::collections::VecDeque::new();
    let mut credit: i64 = 0;
    for m in ms {
        if m.amount >= 0 {
            // A new debt uses up the credit first.
            let used = m.amount.min(credit);
            credit -= used;
            if m.amount > used {
                debts.push_back((m.on, m.amount - used));
            }
        } else {
            let mut left = -m.amount;
            while left > 0 {
                let Some(front) = debts.front_mut() else {
                    break;
                };
                let paid = front.1.min(left);
                front.1 -= paid;
                left -= paid;
                if front.1 == 0 {
                    debts.pop_front();
                }
            }
            credit += left;
        }
    }
    let mut a = Aging::default();
    for (on, amount) in debts {
        let age = (as_of - on).get_days().into();
        a.add(age, amount);
    }
    a.current -= credit;
    a
}

/// Something a payment can pay: an invoice, a procedure, a provider's share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owed {
    pub id: uuid::Uuid,
    /// Still to pay, minor units (≥ 0).
    pub open: i64,
}

/// How a payment is split: the parts in the order given, and what is left over (offered as
/// credit on account, never lost).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    pub parts: Vec<(uuid::Uuid, i64)>,
    pub left_over: i64,
}

/// Splits `amount` across what is owed. With `asked` (an explicit split: id and amount), each
/// part is checked against what is open; otherwise the items are paid in the order given
/// (oldest first). Refused: a part over what is open, a split adding up to more than the
/// payment, an unknown item, a negative part.
pub fn split_payment(
    amount: i64,
    owed: &[Owed],
    asked: Option<&[(uuid::Uuid, i64)]>,
) -> Result<Split, DomainError> {
    if amount <= 0 {
        return Err(DomainError::field("amount", "must be more than zero"));
    }
    let mut parts = Vec::new();
    let mut left = amount;
    match asked {
        Some(asked) => {
            let mut used: BTreeMap<uuid::Uuid, i64> = BTreeMap::new();
            for (i, (id, part)) in asked.iter().enumerate() {
                let Some(o) = owed.iter().find(|o| o.id == *id) else {
                    return Err(DomainError::field(
                        &format!("allocations[{i}]"),
                        "not something this patient owes",
                    ));
                };
                if *part <= 0 {
                    return Err(DomainError::field(
                        &format!("allocations[{i}].amount"),
                        "must be more than zero",
                    ));
                }
                let u = used.entry(*id).or_insert(0);
                if *u + part > o.open {
                    return Err(DomainError::field(
                        &format!("allocations[{i}].amount"),
                        format!("more than the {} still open", o.open - *u),
                    ));
                }
                if *part > left {
                    return Err(DomainError::field(
                        "allocations",
                        "the parts add up to more than the payment",
                    ));
                }
                *u += part;
                left -= part;
                parts.push((*id, *part));
            }
        }
        None => {
            for o in owed {
                if left == 0 {
                    break;
                }
                let p = o.open.min(left);
                if p > 0 {
                    parts.push((o.id, p));
                    left -= p;
                }
            }
        }
    }
    Ok(Split {
        parts,
        left_over: left,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn id(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    #[test]
    fn every_entry_is_a_balanced_double_entry() {
        let p = id(1);
        let entries = [
            Entry::Charge { amount: 12_000 },
            Entry::Payment {
                amount: 5_000,
                method: Method::Card,
            },
            Entry::Prepayment {
                amount: 900,
                method: Method::Cash,
            },
            Entry::ApplyCredit { amount: 900 },
            Entry::Discount { amount: 600 },
            Entry::WriteOff { amount: 100 },
            Entry::Adjustment {
                amount: 50,
                up: true,
            },
            Entry::Adjustment {
                amount: 50,
                up: false,
            },
            Entry::Refund {
                amount: 200,
                method: Method::Card,
            },
            Entry::CreditRefund {
                amount: 10,
                method: Method::Cash,
            },
            Entry::Transfer {
                amount: 300,
                to: id(2),
            },
        ];
        for e in &entries {
            let lines = e.lines(p).unwrap();
            assert!(balanced(&lines), "{e:?}");
            assert!(balanced(&reversal(&lines)));
            assert_eq!(lines.iter().map(|l| l.amount.abs()).max(), Some(e.amount()));
        }
        // The charge: the patient owes, the practice produced.
        let c = Entry::Charge { amount: 12_000 }.lines(p).unwrap();
        assert_eq!(
            c[0],
            Line {
                account: Account::Receivable,
                party: Some(p),
                amount: 12_000
            }
        );
        assert_eq!(c[1].account, Account::Revenue);
        assert!(Entry::Charge { amount: 0 }.lines(p).is_err());
        assert!(
            Entry::Payment {
                amount: -5,
                method: Method::Cash
            }
            .lines(p)
            .is_err()
        );
        assert!(Entry::Transfer { amount: 5, to: p }.lines(p).is_err());
    }

    #[test]
    fn account_codes_round_trip() {
        let mut all = vec![
            Account::Receivable,
            Account::Revenue,
            Account::Discounts,
            Account::WriteOffs,
            Account::Adjustments,
            Account::PatientCredit,
        ];
        all.extend(Method::ALL.map(Account::Cash));
        for a in all {
            assert_eq!(Account::from_code(&a.code()), Some(a));
        }
        assert_eq!(Account::from_code("cash.gold"), None);
    }

    #[test]
    fn verify_names_the_posting_that_does_not_balance() {
        let good = Entry::Charge { amount: 100 }.lines(id(1)).unwrap();
        let mut bad = good.clone();
        bad[1].amount = -99;
        let faults = verify([good.as_slice(), bad.as_slice()]);
        assert_eq!(
            faults,
            vec![
                LedgerFault::Unbalanced { posting: 1, sum: 1 },
                LedgerFault::TrialBalance { sum: 1 }
            ]
        );
        assert!(verify([good.as_slice()]).is_empty());
    }

    #[test]
    fn aging_pays_the_oldest_first() {
        let as_of = date(2026, 12, 1);
        let m = |y, mo, d, a| Movement {
            on: date(y, mo, d),
            amount: a,
        };
        let ms = [
            m(2026, 7, 1, 10_000),  // 153 days: over 120
            m(2026, 9, 15, 5_000),  // 77 days: over 60
            m(2026, 11, 20, 2_000), // 11 days: current
            m(2026, 11, 25, -12_000),
        ];
        let a = aging(&ms, as_of);
        assert_eq!(
            a,
            Aging {
                current: 2_000,
                over_30: 0,
                over_60: 3_000,
                over_90: 0,
                over_120: 0
            }
        );
        // As of before the payment, the old debt is still there.
        let before = aging(&ms, date(2026, 11, 24));
        assert_eq!(before.over_120, 10_000);
        assert_eq!(before.total(), 17_000);
        // Paid too much: a credit, used by the next charge.
        let over = [m(2026, 11, 1, 1_000), m(2026, 11, 2, -1_500)];
        assert_eq!(
            aging(&over, as_of),
            Aging {
                current: -500,
                ..Aging::default()
            }
        );
        let used = [
            m(2026, 11, 1, 1_000),
            m(2026, 11, 2, -1_500),
            m(2026, 11, 3, 800),
        ];
        assert_eq!(
            aging(&used, as_of),
            Aging {
                current: 300,
                ..Aging::default()
            }
        );
        // The bucket edges.
        for (days, want) in [
            (30, 0),
            (31, 1),
            (60, 1),
            (61, 2),
            (90, 2),
            (91, 3),
            (120, 3),
            (121, 4),
        ] {
            let on = as_of.checked_sub(jiff::Span::new().days(days)).unwrap();
            let a = aging(&[Movement { on, amount: 7 }], as_of);
            let buckets = [a.current, a.over_30, a.over_60, a.over_90, a.over_120];
            assert_eq!(
                buckets.iter().position(|b| *b == 7),
                Some(want),
                "{days} days"
            );
        }
    }

    #[test]
    fn a_split_pays_in_order_and_keeps_what_is_left() {
        let owed = [
            Owed {
                id: id(1),
                open: 3_000,
            },
            Owed {
                id: id(2),
                open: 2_000,
            },
        ];
        let s = split_payment(4_000, &owed, None).unwrap();
        assert_eq!(
            s,
            Split {
                parts: vec![(id(1), 3_000), (id(2), 1_000)],
                left_over: 0
            }
        );
        let s = split_payment(6_000, &owed, None).unwrap();
        assert_eq!(s.left_over, 1_000);
        let s = split_payment(2_500, &owed, Some(&[(id(2), 2_000), (id(1), 500)])).unwrap();
        assert_eq!(s.parts, vec![(id(2), 2_000), (id(1), 500)]);
        let e = split_payment(2_500, &owed, Some(&[(id(2), 2_001)])).unwrap_err();
        assert!(
            e.to_string().contains("more than the 2000 still open"),
            "{e}"
        );
        assert!(split_payment(1_000, &owed, Some(&[(id(1), 600), (id(2), 600)])).is_err());
        assert!(split_payment(1_000, &owed, Some(&[(id(9), 600)])).is_err());
        assert!(split_payment(0, &owed, None).is_err());
    }

    fn entry() -> impl Strategy<Value = (u8, i64, bool)> {
        (0u8..10, 1i64..5_000_000, any::<bool>())
    }

    proptest! {
        /// Any sequence of postings: each balances, the whole balances, and the patient's
        /// aging buckets sum to the balance, which is the sum of the receivable lines.
        #[test]
        fn aging_sums_to_the_balance(
            es in prop::collection::vec((entry(), 0i64..400), 0..60),
            as_of_days in 0i64..400,
        ) {
            let p = id(1);
            let start = date(2025, 1, 1);
            let mut postings: Vec<Vec<Line>> = Vec::new();
            let mut movements = Vec::new();
            for ((k, amount, up), day) in es {
                let m = Method::ALL[usize::from(k) % Method::ALL.len()];
                let e = match k {
                    0..=2 => Entry::Charge { amount },
                    3 | 4 => Entry::Payment { amount, method: m },
                    5 => Entry::Discount { amount },
                    6 => Entry::WriteOff { amount },
                    7 => Entry::Adjustment { amount, up },
                    8 => Entry::Refund { amount, method: m },
                    _ => Entry::Transfer { amount, to: id(2) },
                };
                let lines = e.lines(p).unwrap();
                prop_assert!(balanced(&lines));
                let on = start.checked_add(jiff::Span::new().days(day)).unwrap();
                for l in &lines {
                    if l.account == Account::Receivable && l.party == Some(p) {
                        movements.push(Movement { on, amount: l.amount });
                    }
                }
                postings.push(lines);
            }
            prop_assert!(verify(postings.iter().map(Vec::as_slice)).is_empty());
            let as_of = start.checked_add(jiff::Span::new().days(as_of_days)).unwrap();
            let a = aging(&movements, as_of);
            let balance: i64 = movements.iter().filter(|m| m.on <= as_of).map(|m| m.amount).sum();
            prop_assert_eq!(a.total(), balance);
            // Only the current bucket may be negative (a credit balance).
            prop_assert!(a.over_30 >= 0 && a.over_60 >= 0 && a.over_90 >= 0 && a.over_120 >= 0);
            // The trial balance agrees with the patient's receivable.
            let tb = trial_balance(postings.iter().flatten());
            let all: i64 = movements.iter().map(|m| m.amount).sum();
            prop_assert_eq!(tb.get(&("receivable".to_string(), Some(p))).copied().unwrap_or(0), i128::from(all));
        }

        /// A split never loses or makes a cent, and no part is over what is open.
        #[test]
        fn a_split_neither_loses_nor_makes_a_cent(
            amount in 1i64..10_000_000,
            opens in prop::collection::vec(0i64..3_000_000, 0..12),
        ) {
            let owed: Vec<Owed> = opens.iter().enumerate().map(|(i, o)| Owed { id: id(i as u128 + 1), open: *o }).collect();
            let s = split_payment(amount, &owed, None).unwrap();
            let parts: i64 = s.parts.iter().map(|p| p.1).sum();
            prop_assert_eq!(parts + s.left_over, amount);
            prop_assert!(s.left_over >= 0);
            for (pid, part) in &s.parts {
                let o = owed.iter().find(|o| o.id == *pid).unwrap();
                prop_assert!(*part > 0 && *part <= o.open);
            }
            let open: i64 = opens.iter().sum();
            prop_assert_eq!(s.left_over, (amount - open).max(0));
        }
    }
}
