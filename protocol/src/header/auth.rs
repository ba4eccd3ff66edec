//! ACL 2.0 admin headers (Apache 5.3+, request codes 3001-3010): users and their ACLs.
//!
//! The user or ACL itself travels as a JSON body ([`crate::body::auth`]); the header names
//! which one. Apache's broker answers a blank name with `INVALID_PARAMETER`.

command_header! {
    /// `CreateUserRequestHeader` (3001, `AUTH_CREATE_USER`); body: a `UserInfo`.
    pub struct CreateUserRequestHeader {
        /// The user to create (overrides the body's `username`).
        username: String, "username", required;
    }
}

command_header! {
    /// `UpdateUserRequestHeader` (3002, `AUTH_UPDATE_USER`); body: a `UserInfo` whose set fields
    /// replace the user's.
    pub struct UpdateUserRequestHeader {
        /// The user to update.
        username: String, "username", required;
    }
}

command_header! {
    /// `DeleteUserRequestHeader` (3003, `AUTH_DELETE_USER`).
    pub struct DeleteUserRequestHeader {
        /// The user to delete; deleting one that does not exist succeeds.
        username: String, "username", required;
    }
}

command_header! {
    /// `GetUserRequestHeader` (3004, `AUTH_GET_USER`); the answer's body is a `UserInfo`, none
    /// when the user does not exist.
    pub struct GetUserRequestHeader {
        /// The user.
        username: String, "username", required;
    }
}

command_header! {
    /// `ListUsersRequestHeader` (3005, `AUTH_LIST_USER`); the answer's body is a JSON array of
    /// `UserInfo`, none when no user matches.
    pub struct ListUsersRequestHeader {
        /// Keeps the users whose name contains this text; absent or blank: all.
        filter: String, "filter", optional;
    }
}

command_header! {
    /// `CreateAclRequestHeader` (3006, `AUTH_CREATE_ACL`); body: an `AclInfo`.
    pub struct CreateAclRequestHeader {
        /// The subject, `User:<name>`.
        subject: String, "subject", required;
    }
}

command_header! {
    /// `UpdateAclRequestHeader` (3007, `AUTH_UPDATE_ACL`); body: an `AclInfo` whose entries
    /// replace the subject's entries on the same resources.
    pub struct UpdateAclRequestHeader {
        /// The subject, `User:<name>`.
        subject: String, "subject", required;
    }
}

command_header! {
    /// `DeleteAclRequestHeader` (3008, `AUTH_DELETE_ACL`).
    pub struct DeleteAclRequestHeader {
        /// The subject, `User:<name>`.
        subject: String, "subject", required;
        /// `Custom` or `Default`; absent: `Custom`.
        policy_type: String, "policyType", optional;
        /// One resource (`Topic:orders`); absent: every entry of the subject.
        resource: String, "resource", optional;
    }
}

command_header! {
    /// `GetAclRequestHeader` (3009, `AUTH_GET_ACL`); the answer's body is an `AclInfo`, none
    /// when the subject has no ACL.
    pub struct GetAclRequestHeader {
        /// The subject, `User:<name>`.
        subject: String, "subject", required;
    }
}

command_header! {
    /// `ListAclsRequestHeader` (3010, `AUTH_LIST_ACL`); the answer's body is a JSON array of
    /// `AclInfo`, none when nothing matches.
    pub struct ListAclsRequestHeader {
        /// Keeps the subjects containing this text; absent or blank: all.
        subject_filter: String, "subjectFilter", optional;
        /// Keeps the entries whose resource contains this text; absent or blank: all.
        resource_filter: String, "resourceFilter", optional;
    }
}
