//! Identity and access, the pure part: permissions, the default roles and what they may do, and
//! which permission each page needs. The web layer's one authorization chokepoint asks
//! [`Role::grants`] / [`PermissionSet::allows`]; nothing else decides access.
//!
//! The seed's page table (seed 004) holds exactly for its four roles (Admin, Dentist,
//! Receptionist, Assistant). Hygienist, Treatment coordinator and Billing get what their jobs
//! need and no more; each choice is written next to its role below and tested.

pub mod password;
pub mod provider;
pub mod totp;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! permissions {
    ($($variant:ident = $code:literal: $doc:literal,)*) => {
        /// A fine-grained permission. Codes are stable: they are stored in custom roles.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
        pub enum Permission {
            $(#[doc = $doc] $variant,)*
        }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            pub fn code(self) -> &'static str {
                match self {
                    $(Permission::$variant => $code,)*
                }
            }

            pub fn description(self) -> &'static str {
                match self {
                    $(Permission::$variant => $doc,)*
                }
            }
        }

        impl FromStr for Permission {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok(Permission::$variant),)*
                    other => Err(format!("unknown permission {other:?}")),
                }
            }
        }
    };
}

permissions! {
    DashboardView = "dashboard.view": "See the practice dashboard (day's figures, all chairs).",
    PatientsRead = "patients.read": "Search and open patient records.",
    PatientsWrite = "patients.write": "Register patients and edit demographics, families, medical history.",
    ScheduleRead = "schedule.read": "See the agenda of every chair and provider.",
    ScheduleWrite = "schedule.write": "Book, move and cancel appointments; manage the waitlist.",
    ChartRead = "chart.read": "See odontograms, perio charts and clinical notes.",
    ChartWrite = "chart.write": "Chart findings and draft clinical notes.",
    PerioWrite = "perio.write": "Record periodontal charts and hygiene procedures.",
    ChartSign = "chart.sign": "Sign clinical records and dentist-only procedures.",
    TreatmentRead = "treatment.read": "See treatment plans and completed procedures.",
    TreatmentWrite = "treatment.write": "Create and change treatment plans.",
    PrescriptionsRead = "prescriptions.read": "See prescriptions.",
    PrescriptionsWrite = "prescriptions.write": "Write prescriptions.",
    EstimatesView = "estimates.view": "See insurance and patient-share estimates of plans.",
    BillingRead = "billing.read": "See invoices, payments and ledgers.",
    BillingPost = "billing.post": "Post charges and take payments.",
    BillingAdjust = "billing.adjust": "Post adjustments and write-offs.",
    BillingVoid = "billing.void": "Void posted transactions.",
    InsuranceManage = "insurance.manage": "Manage carriers, plans, claims and remittances.",
    ReportsView = "reports.view": "See practice and financial reports.",
    InventoryManage = "inventory.manage": "Manage stock and see inventory logs.",
    ExpensesManage = "expenses.manage": "Record and see the practice's expenses.",
    LabManage = "lab.manage": "Send and track lab requests.",
    ImagingRead = "imaging.read": "View X-rays and other images.",
    ImagingWrite = "imaging.write": "Acquire, import and annotate images.",
    UsersManage = "users.manage": "Add, edit and deactivate staff; manage roles.",
    AuditView = "audit.view": "See the audit log and access reports.",
    SettingsManage = "settings.manage": "Change practice settings (locations, fees, storage, security).",
    PortalSelf = "portal.self": "A patient's own portal: appointments, documents, balance.",
    ApiAccess = "api.access": "Use the JSON API with a token.",
    ScheduleOverride = "schedule.override": "Book outside a provider's hours, into a blockout or in the past.",
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of permissions (a bit set: there are fewer than 64).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct PermissionSet(u64);

impl PermissionSet {
    pub fn of(perms: &[Permission]) -> PermissionSet {
        let mut s = PermissionSet::default();
        for p in perms {
            s.insert(*p);
        }
        s
    }

    fn bit(p: Permission) -> u64 {
        1u64 << (p as u32)
    }

    pub fn insert(&mut self, p: Permission) {
        self.0 |= Self::bit(p);
    }

    pub fn allows(&self, p: Permission) -> bool {
        self.0 & Self::bit(p) != 0
    }

    pub fn union(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 | other.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        Permission::ALL.iter().copied().filter(|p| self.allows(*p))
    }
}

/// The default roles every organization starts with.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Dentist,
    Hygienist,
    Assistant,
    Receptionist,
    TreatmentCoordinator,
    Billing,
    /// Portal only.
    Patient,
    /// API tokens.
    External,
}

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::Admin,
        Role::Dentist,
        Role::Hygienist,
        Role::Assistant,
        Role::Receptionist,
        Role::TreatmentCoordinator,
        Role::Billing,
        Role::Patient,
        Role::External,
    ];

    /// Staff roles (the ones with a demo user).
    pub const STAFF: &'static [Role] = &[
        Role::Admin,
        Role::Dentist,
        Role::Hygienist,
        Role::Assistant,
        Role::Receptionist,
        Role::TreatmentCoordinator,
        Role::Billing,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Dentist => "dentist",
            Role::Hygienist => "hygienist",
            Role::Assistant => "assistant",
            Role::Receptionist => "receptionist",
            Role::TreatmentCoordinator => "coordinator",
            Role::Billing => "billing",
            Role::Patient => "patient",
            Role::External => "external",
        }
    }

    /// What the role may do.
    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        PermissionSet::of(match self {
            // Full oversight, configuration and user management: everything but the portal's
            // and the API's own permissions.
            Role::Admin => {
                let mut all = PermissionSet::default();
                for p in Permission::ALL {
                    if !matches!(p, PortalSelf | ApiAccess) {
                        all.insert(*p);
                    }
                }
                return all;
            }
            // Patient records, charting and signing, plans, prescriptions, images, labs.
            Role::Dentist => &[
                DashboardView,
                PatientsRead,
                PatientsWrite,
                ScheduleRead,
                ScheduleWrite,
                ScheduleOverride,
                ChartRead,
                ChartWrite,
                PerioWrite,
                ChartSign,
                TreatmentRead,
                TreatmentWrite,
                PrescriptionsRead,
                PrescriptionsWrite,
                EstimatesView,
                ImagingRead,
                ImagingWrite,
                LabManage,
            ],
            // Hygiene visits: opens the patients on the schedule, charts perio and hygiene
            // procedures, reads plans and images, takes radiographs. Does not sign
            // dentist-only procedures, prescribe, or touch money.
            Role::Hygienist => &[
                PatientsRead,
                ScheduleRead,
                ChartRead,
                ChartWrite,
                PerioWrite,
                TreatmentRead,
                ImagingRead,
                ImagingWrite,
            ],
            // Chairside support and inventory (seed 004).
            Role::Assistant => &[InventoryManage],
            // Front desk: agenda (and booking past the usual hours when the dentist agrees),
            // registration, billing tasks, lab tracking (seed 004).
            Role::Receptionist => &[
                DashboardView,
                PatientsRead,
                PatientsWrite,
                ScheduleRead,
                ScheduleWrite,
                ScheduleOverride,
                BillingRead,
                BillingPost,
                LabManage,
            ],
            // Presents plans and estimates and books the visits that follow.
            Role::TreatmentCoordinator => &[
                PatientsRead,
                ScheduleRead,
                ScheduleWrite,
                TreatmentRead,
                EstimatesView,
            ],
            // Money: invoices, payments, adjustments, insurance and financial reports.
            Role::Billing => &[
                PatientsRead,
                BillingRead,
                BillingPost,
                BillingAdjust,
                BillingVoid,
                InsuranceManage,
                EstimatesView,
                ReportsView,
            ],
            Role::Patient => &[PortalSelf],
            Role::External => &[ApiAccess],
        })
    }

    pub fn grants(self, p: Permission) -> bool {
        self.permissions().allows(p)
    }

    /// Where the role lands after signing in: its first page it may see.
    pub fn landing_page(self) -> &'static str {
        PAGES
            .iter()
            .find(|(_, p)| p.is_none_or(|p| self.grants(p)))
            .map(|(path, _)| *path)
            .unwrap_or("/profile")
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .iter()
            .copied()
            .find(|r| r.code() == s)
            .ok_or_else(|| format!("unknown role {s:?}"))
    }
}

/// The seed's pages in landing-preference order and the permission each needs (`None`: any
/// signed-in user).
pub const PAGES: &[(&str, Option<Permission>)] = &[
    ("/dashboard", Some(Permission::DashboardView)),
    ("/appointments", Some(Permission::ScheduleRead)),
    ("/patients", Some(Permission::PatientsRead)),
    ("/patients/{id}", Some(Permission::PatientsRead)),
    ("/treatments", Some(Permission::TreatmentRead)),
    ("/treatments/{id}", Some(Permission::TreatmentRead)),
    ("/prescriptions", Some(Permission::PrescriptionsRead)),
    ("/invoices", Some(Permission::BillingRead)),
    ("/payments", Some(Permission::BillingRead)),
    ("/lab-requests", Some(Permission::LabManage)),
    ("/inventory", Some(Permission::InventoryManage)),
    ("/inventory/logs", Some(Permission::InventoryManage)),
    ("/expenses", Some(Permission::ExpensesManage)),
    ("/reports", Some(Permission::ReportsView)),
    ("/doctors", Some(Permission::UsersManage)),
    ("/profile", None),
];

/// May this role open this page?
pub fn page_allowed(role: Role, path: &str) -> Option<bool> {
    PAGES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, perm)| perm.is_none_or(|perm| role.grants(perm)))
}

#[cfg(test)]
mod tests;
