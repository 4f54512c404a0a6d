//! Test support for the end-to-end suites in `tests/tests/`: a fault-injecting TCP proxy, a
//! hostile proxy that answers chosen requests with crafted (broken, malicious) responses, and a
//! district (the real reference server with users) started on loopback, and a proxy that
//! edits requests on their way (a man in the middle).

pub mod district;
pub mod fault_proxy;
pub mod hostile_proxy;
pub mod reports;
pub mod tampering_proxy;
