//! `Scope`: who is acting, for which organization, over which locations. Every store function
//! on tenant-owned data takes one, so no query can forget its tenant.

use crate::kernel::ids::{LocationId, OrgId, UserId};

/// The acting principal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Principal {
    /// A signed-in user.
    User(UserId),
    /// The system itself: start-up, demo creation, jobs, the generator.
    System,
}

/// Which locations of the organization the principal may touch.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LocationAccess {
    All,
    Only(Vec<LocationId>),
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Scope {
    org: OrgId,
    principal: Principal,
    locations: LocationAccess,
}

impl Scope {
    pub fn new(org: OrgId, principal: Principal, locations: LocationAccess) -> Self {
        Self {
            org,
            principal,
            locations,
        }
    }

    /// A system scope over the whole organization (jobs, demo, generator).
    pub fn system(org: OrgId) -> Self {
        Self::new(org, Principal::System, LocationAccess::All)
    }

    pub fn org(&self) -> OrgId {
        self.org
    }

    pub fn principal(&self) -> Principal {
        self.principal
    }

    pub fn locations(&self) -> &LocationAccess {
        &self.locations
    }

    pub fn allows_location(&self, loc: LocationId) -> bool {
        match &self.locations {
            LocationAccess::All => true,
            LocationAccess::Only(list) => list.contains(&loc),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn location_access() {
        let org = OrgId::from_uuid(Uuid::from_u128(1));
        let a = LocationId::from_uuid(Uuid::from_u128(2));
        let b = LocationId::from_uuid(Uuid::from_u128(3));
        let s = Scope::new(org, Principal::System, LocationAccess::Only(vec![a]));
        assert!(s.allows_location(a));
        assert!(!s.allows_location(b));
        assert!(Scope::system(org).allows_location(b));
    }
}
