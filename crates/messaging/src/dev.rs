//! Development senders: they send nothing, log each message in full (so a demo shows its
//! codes and links in the server log) and keep the last ones in memory for tests.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::{BoxFuture, Email, Mailer, SendError, Sms, SmsSender};

/// How many messages the development senders keep by default.
const DEFAULT_KEEP: usize = 100;

/// The last `keep` items, newest at the back.
struct Recent<T> {
    keep: usize,
    items: Mutex<VecDeque<T>>,
    count: AtomicU64,
}

impl<T: Clone> Recent<T> {
    fn new(keep: usize) -> Self {
        Recent {
            keep: keep.max(1),
            items: Mutex::new(VecDeque::new()),
            count: AtomicU64::new(0),
        }
    }

    /// Stores `item`; returns its sequence number (from 1).
    fn push(&self, item: T) -> u64 {
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        if items.len() >= self.keep {
            items.pop_front();
        }
        items.push_back(item);
        self.count.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn last_where(&self, pred: impl Fn(&T) -> bool) -> Option<T> {
        let items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        items.iter().rev().find(|i| pred(i)).cloned()
    }

    fn all(&self) -> Vec<T> {
        let items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        items.iter().cloned().collect()
    }
}

/// An [`SmsSender`] for development: logs each message with `warn!` (the full number and
/// body: development only) and keeps the last ones.
pub struct DevSms {
    recent: Recent<Sms>,
}

impl DevSms {
    /// Keeps the last `keep` messages (at least one).
    pub fn new(keep: usize) -> Self {
        DevSms {
            recent: Recent::new(keep),
        }
    }

    /// The body of the last message sent to `phone` (exactly as it was addressed).
    pub fn last_to(&self, phone: &str) -> Option<String> {
        self.recent.last_where(|s| s.to == phone).map(|s| s.body)
    }

    /// The kept messages, oldest first.
    pub fn messages(&self) -> Vec<Sms> {
        self.recent.all()
    }
}

impl Default for DevSms {
    fn default() -> Self {
        DevSms::new(DEFAULT_KEEP)
    }
}

impl SmsSender for DevSms {
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            tracing::warn!("SMS to {} : {}", sms.to, sms.body);
            let n = self.recent.push(sms.clone());
            Ok(format!("dev-sms-{n}"))
        })
    }

    fn name(&self) -> &'static str {
        "dev"
    }
}

/// A [`Mailer`] for development: logs each email with `warn!` (recipient, subject and text)
/// and keeps the last ones.
pub struct DevMailer {
    recent: Recent<Email>,
}

impl DevMailer {
    /// Keeps the last `keep` emails (at least one).
    pub fn new(keep: usize) -> Self {
        DevMailer {
            recent: Recent::new(keep),
        }
    }

    /// The last email sent to `address` (compared without regard to case).
    pub fn last_to(&self, address: &str) -> Option<Email> {
        let address = address.trim();
        self.recent
            .last_where(|e| e.to.trim().eq_ignore_ascii_case(address))
    }

    /// The kept emails, oldest first.
    pub fn messages(&self) -> Vec<Email> {
        self.recent.all()
    }
}

impl Default for DevMailer {
    fn default() -> Self {
        DevMailer::new(DEFAULT_KEEP)
    }
}

impl Mailer for DevMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            tracing::warn!("Email to {} : {}\n{}", email.to, email.subject, email.text);
            let n = self.recent.push(email.clone());
            Ok(format!("dev-email-{n}"))
        })
    }

    fn name(&self) -> &'static str {
        "dev"
    }
}
