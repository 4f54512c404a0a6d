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
    /// Process exit code: 2 for bad input, 1 for everything else.
    pub exit: u8,
}

impl CliError {
    /// A bad-input error about `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = format!("invalid {field}: {}", message.into());
        CliError {
            code: "validation",
            field: Some(field),
            message,
            exit: 2,
        }
    }

    /// Any other failure.
    pub fn other(code: &'static str, message: impl Into<String>) -> Self {
        CliError {
            code,
            field: None,
            message: message.into(),
            exit: 1,
        }
    }

    /// Prints the error and returns the exit code.
    pub fn report(self, json: bool) -> ExitCode {
        let line = self.message.replace(['\n', '\r'], " ");
        eprintln!("gridline: error: {line}");
        if json {
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
            GridlineError::Validation { field, .. } => CliError {
                code: "validation",
                field: Some(field),
                message,
                exit: 2,
            },
            GridlineError::Storage { .. } => CliError::other("storage", message),
            GridlineError::Network { .. } => CliError::other("network", message),
            GridlineError::Auth { .. } => CliError::other("auth", message),
            GridlineError::Conflict { .. } => CliError::other("conflict", message),
            GridlineError::NotFound { .. } => CliError::other("not_found", message),
            GridlineError::Photo { .. } => CliError {
                code: "photo",
                field: None,
                message,
                exit: 2,
            },
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
