//! A non-zero exit that is not an error to print: the command already said what it found
//! (an audit with violations, a status with pending migrations).

/// Exit with this code and print nothing more.
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}
