//! Who is calling: password hashing, session tokens, login throttling, the
//! [`CurrentUser`] extractor that every authenticated route takes, and the short-lived
//! [`SessionCache`] behind it.

pub mod cookie;
mod current_user;
mod password;
pub mod session_cache;
mod throttle;

pub use current_user::CurrentUser;
pub use password::PasswordHasher;
pub use session_cache::SessionCache;
pub use throttle::LoginThrottle;
