use super::*;

/// Seed 004's page table, verbatim: which of its roles may open each page.
const SEED_TABLE: &[(&str, &[Role])] = &[
    (
        "/dashboard",
        &[Role::Admin, Role::Dentist, Role::Receptionist],
    ),
    (
        "/patients",
        &[Role::Admin, Role::Dentist, Role::Receptionist],
    ),
    (
        "/patients/{id}",
        &[Role::Admin, Role::Dentist, Role::Receptionist],
    ),
    ("/doctors", &[Role::Admin]),
    (
        "/appointments",
        &[Role::Admin, Role::Dentist, Role::Receptionist],
    ),
    ("/treatments", &[Role::Admin, Role::Dentist]),
    ("/treatments/{id}", &[Role::Admin, Role::Dentist]),
    ("/prescriptions", &[Role::Admin, Role::Dentist]),
    ("/invoices", &[Role::Admin, Role::Receptionist]),
    ("/payments", &[Role::Admin, Role::Receptionist]),
    (
        "/lab-requests",
        &[Role::Admin, Role::Dentist, Role::Receptionist],
    ),
    ("/inventory", &[Role::Admin, Role::Assistant]),
    ("/inventory/logs", &[Role::Admin, Role::Assistant]),
    ("/expenses", &[Role::Admin]),
    ("/reports", &[Role::Admin]),
    (
        "/profile",
        &[
            Role::Admin,
            Role::Dentist,
            Role::Receptionist,
            Role::Assistant,
        ],
    ),
];

const SEED_ROLES: &[Role] = &[
    Role::Admin,
    Role::Dentist,
    Role::Receptionist,
    Role::Assistant,
];

#[test]
fn the_seed_page_table_holds_exactly_for_its_roles() {
    assert_eq!(SEED_TABLE.len(), PAGES.len(), "every seed page is declared");
    for (page, allowed) in SEED_TABLE {
        for role in SEED_ROLES {
            assert_eq!(
                page_allowed(*role, page),
                Some(allowed.contains(role)),
                "{role:?} on {page}"
            );
        }
    }
}

/// The three roles the seed does not know: what each may open, decided and documented in
/// `Role::permissions`.
#[test]
fn hygienist_coordinator_and_billing_get_their_jobs_pages_and_no_more() {
    let pages = |role: Role| -> Vec<&str> {
        PAGES
            .iter()
            .filter(|(p, _)| page_allowed(role, p) == Some(true))
            .map(|(p, _)| *p)
            .collect()
    };
    assert_eq!(
        pages(Role::Hygienist),
        [
            "/appointments",
            "/patients",
            "/patients/{id}",
            "/treatments",
            "/treatments/{id}",
            "/profile"
        ]
    );
    assert_eq!(
        pages(Role::TreatmentCoordinator),
        [
            "/appointments",
            "/patients",
            "/patients/{id}",
            "/treatments",
            "/treatments/{id}",
            "/profile"
        ]
    );
    assert_eq!(
        pages(Role::Billing),
        [
            "/patients",
            "/patients/{id}",
            "/invoices",
            "/payments",
            "/reports",
            "/profile"
        ]
    );
    assert!(Role::Hygienist.grants(Permission::PerioWrite));
    assert!(
        !Role::Hygienist.grants(Permission::ChartSign),
        "no signing dentist-only work"
    );
    assert!(!Role::Hygienist.grants(Permission::PrescriptionsWrite));
    assert!(!Role::TreatmentCoordinator.grants(Permission::ChartWrite));
    assert!(Role::TreatmentCoordinator.grants(Permission::EstimatesView));
    assert!(Role::Billing.grants(Permission::InsuranceManage));
    assert!(
        !Role::Billing.grants(Permission::ChartRead),
        "billing never sees clinical notes"
    );
}

#[test]
fn every_role_lands_on_a_page_it_may_see() {
    for role in Role::ALL {
        let page = role.landing_page();
        assert_eq!(page_allowed(*role, page), Some(true), "{role:?} → {page}");
    }
    assert_eq!(Role::Admin.landing_page(), "/dashboard");
    assert_eq!(Role::Assistant.landing_page(), "/inventory");
    assert_eq!(Role::Hygienist.landing_page(), "/appointments");
    assert_eq!(Role::Billing.landing_page(), "/patients");
}

#[test]
fn codes_round_trip_and_portal_and_api_roles_stay_apart() {
    for p in Permission::ALL {
        assert_eq!(p.code().parse::<Permission>().unwrap(), *p);
        assert!(!p.description().is_empty());
    }
    assert!(Permission::ALL.len() < 64, "fits the bit set");
    for r in Role::ALL {
        assert_eq!(r.code().parse::<Role>().unwrap(), *r);
    }
    assert!("root".parse::<Role>().is_err());
    assert!(!Role::Admin.grants(Permission::PortalSelf));
    for p in Permission::ALL {
        if *p != Permission::PortalSelf {
            assert!(!Role::Patient.grants(*p), "patient: {p}");
        }
        if *p != Permission::ApiAccess {
            assert!(!Role::External.grants(*p), "external: {p}");
        }
    }
    let json = serde_json::to_string(&[Permission::ChartSign]).unwrap();
    assert_eq!(json, r#"["chart.sign"]"#);
}
