//! How the CLI speaks: text for people, `--json` for scripts, and one error line on failure.

use std::process::ExitCode;

use gridline_core::GridlineError;
use serde::Serialize;

/// A failure to show the user: one line on stderr (and a JSON object on stdout with `--json`).
#[derive(Debug)]
pub struct CliError {
    /// Stable machine code (`validation`, `storage`, `not_found`, ...).
    pub code: &'static str,
    /// The field at fault, if any.
    pub field: Option<String>,
    /// The human message.
    pub message: String,
    /// Process exit code: 2 for bad input, 75 for "try again later", 1 for everything else.
    pub exit: u8,
    /// Whether the `--json` result was already printed (so no error object is added).
    pub json_done: bool,
}

impl CliError {
    fn new(code: &'static str, field: Option<String>, message: String, exit: u8) -> Self {
        CliError {
            code,
            field,
            message,
            exit,
            json_done: false,
        }
    }

    /// A bad-input error about `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = format!("invalid {field}: {}", message.into());
        Self::new("validation", Some(field), message, 2)
    }

    /// Any other failure.
    pub fn other(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, None, message.into(), 1)
    }

    /// The same error with another exit status.
    pub fn with_exit(mut self, exit: u8) -> Self {
        self.exit = exit;
        self
    }

    /// Marks the JSON result as already printed: only the stderr line is added.
    pub fn quiet_json(mut self) -> Self {
        self.json_done = true;
        self
    }

    /// Prints the error and returns the exit code.
    pub fn report(self, json: bool) -> ExitCode {
        let line = self.message.replace(['\n', '\r'], " ");
        eprintln!("gridline: error: {line}");
        if json && !self.json_done {
            let body = serde_json::json!({"error": {"code": self.code, "field": self.field, "message": line}});
            println!("{body}");
        }
        ExitCode::from(self.exit)
    }
}

impl From<GridlineError> for CliError {
    fn from(e: GridlineError) -> Self {
        let message = e.to_string();
        match e {
            GridlineError::Validation { field, .. } => {
                Self::new("validation", Some(field), message, 2)
            }
            GridlineError::Storage { .. } => Self::new("storage", None, message, 1),
            GridlineError::Network {
                retryable: true, ..
            } => Self::new("network", None, message, 75),
            GridlineError::Network { .. } => Self::new("network", None, message, 1),
            GridlineError::Auth { .. } => Self::new("auth", None, message, 1),
            GridlineError::Conflict { .. } => Self::new("conflict", None, message, 1),
            GridlineError::NotFound { .. } => Self::new("not_found", None, message, 1),
            GridlineError::Photo { .. } => Self::new("photo", None, message, 2),
            GridlineError::Busy { .. } => Self::new("busy", None, message, 75),
            GridlineError::Unsent { .. } => Self::new("unsent", None, message, 1),
            GridlineError::Closed => Self::new("closed", None, message, 1),
        }
    }
}

/// Prints `value` as one line of JSON.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text =
        serde_json::to_string(value).map_err(|e| CliError::other("internal", e.to_string()))?;
    println!("{text}");
    Ok(())
}
