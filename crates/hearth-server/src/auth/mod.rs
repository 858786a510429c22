//! Who is calling: password hashing, session tokens, login throttling, and the
//! [`CurrentUser`] extractor that every authenticated route takes.

mod current_user;
mod password;
mod throttle;

pub use current_user::CurrentUser;
pub use password::PasswordHasher;
pub use throttle::LoginThrottle;
