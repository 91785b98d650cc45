//! The error model: one table of stable error codes, each mapped to an HTTP status and a
//! message key. The web layer renders them as an HTML page (with the request id) or as JSON
//! problem details (RFC 9457); the code string never changes once published.

use std::fmt;

use serde::Serialize;

/// Stable error codes. Add new ones at the end of the table; never rename one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Validation,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Internal,
    Unavailable,
}

/// `(code, stable string, HTTP status, message key in the .ftl files)`.
pub const ERROR_TABLE: &[(ErrorCode, &str, u16, &str)] = &[
    (
        ErrorCode::BadRequest,
        "bad_request",
        400,
        "error-bad-request",
    ),
    (ErrorCode::Validation, "validation", 422, "error-validation"),
    (
        ErrorCode::Unauthorized,
        "unauthorized",
        401,
        "error-unauthorized",
    ),
    (ErrorCode::Forbidden, "forbidden", 403, "error-forbidden"),
    (ErrorCode::NotFound, "not_found", 404, "error-not-found"),
    (
        ErrorCode::MethodNotAllowed,
        "method_not_allowed",
        405,
        "error-method-not-allowed",
    ),
    (ErrorCode::Conflict, "conflict", 409, "error-conflict"),
    (
        ErrorCode::PayloadTooLarge,
        "payload_too_large",
        413,
        "error-payload-too-large",
    ),
    (
        ErrorCode::UnsupportedMediaType,
        "unsupported_media_type",
        415,
        "error-unsupported-media-type",
    ),
    (
        ErrorCode::RateLimited,
        "rate_limited",
        429,
        "error-rate-limited",
    ),
    (ErrorCode::Internal, "internal", 500, "error-internal"),
    (
        ErrorCode::Unavailable,
        "unavailable",
        503,
        "error-unavailable",
    ),
];

impl ErrorCode {
    fn row(self) -> (&'static str, u16, &'static str) {
        ERROR_TABLE
            .iter()
            .find(|(c, ..)| *c == self)
            .map(|(_, s, st, k)| (*s, *st, *k))
            .unwrap_or(("internal", 500, "error-internal"))
    }

    pub fn as_str(self) -> &'static str {
        self.row().0
    }

    pub fn http_status(self) -> u16 {
        self.row().1
    }

    pub fn message_key(self) -> &'static str {
        self.row().2
    }

    /// The code for an HTTP status, for errors raised by middleware (404, 405, 413...).
    pub fn from_status(status: u16) -> ErrorCode {
        ERROR_TABLE
            .iter()
            .find(|(_, _, st, _)| *st == status)
            .map(|(c, ..)| *c)
            .unwrap_or(if status >= 500 {
                ErrorCode::Internal
            } else {
                ErrorCode::BadRequest
            })
    }
}

/// A problem with one input field.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An error a rule raised, with a stable code and, for validation, per-field messages.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DomainError {
    pub code: ErrorCode,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl DomainError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// Names a field the error is about (a client can point at it).
    pub fn with_field(mut self, field: &str, message: impl Into<String>) -> Self {
        self.fields.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn validation(fields: Vec<FieldError>) -> Self {
        let message = fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            code: ErrorCode::Validation,
            message,
            fields,
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError {
            field: field.to_string(),
            message: message.into(),
        }])
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for DomainError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_is_complete_and_unique() {
        let codes: HashSet<_> = ERROR_TABLE.iter().map(|r| r.1).collect();
        assert_eq!(codes.len(), ERROR_TABLE.len());
        let statuses: HashSet<_> = ERROR_TABLE.iter().map(|r| r.2).collect();
        assert_eq!(statuses.len(), ERROR_TABLE.len(), "one code per status");
        assert_eq!(ErrorCode::NotFound.http_status(), 404);
        assert_eq!(ErrorCode::PayloadTooLarge.as_str(), "payload_too_large");
        assert_eq!(ErrorCode::from_status(413), ErrorCode::PayloadTooLarge);
        assert_eq!(ErrorCode::from_status(418), ErrorCode::BadRequest);
        assert_eq!(ErrorCode::from_status(502), ErrorCode::Internal);
    }

    #[test]
    fn validation_lists_fields() {
        let e = DomainError::field("time_zone", "unknown time zone \"Mars/Olympus\"");
        assert_eq!(e.code.http_status(), 422);
        assert_eq!(e.fields.len(), 1);
        assert!(e.to_string().contains("time_zone"));
    }
}
