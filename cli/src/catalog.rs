//! `gridline catalog`: show the kinds, categories and attributes reports are validated against.

use std::path::PathBuf;

use clap::Args;
use gridline_core::{Client, ClientConfig};
use gridline_protocol::{Catalog, Datatype};

use crate::output::{CliError, print_json};

/// Flags of `gridline catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Show the catalog cached in this device database instead of the built-in one.
    #[arg(long)]
    pub db: Option<PathBuf>,
}

/// Runs `gridline catalog`.
pub fn run(args: CatalogArgs, json: bool) -> Result<(), CliError> {
    let catalog = match args.db {
        Some(db_path) => {
            let client = Client::open(ClientConfig {
                db_path,
                reporter: "cli-reader".into(),
                app_version: String::new(),
            })?;
            (*client.catalog()).clone()
        }
        None => Catalog::builtin(),
    };
    if json {
        return print_json(&catalog);
    }
    println!("catalog {}", catalog.version);
    for kind in &catalog.kinds {
        println!("{} ({} {})", kind.code.as_str(), kind.name, kind.name_zh);
        for cat in &kind.categories {
            let class = cat
                .gbt30428
                .as_deref()
                .map(|c| format!("  [GB/T 30428 {c}]"))
                .unwrap_or_default();
            println!("  {:<24} {} {}{class}", cat.code, cat.name, cat.name_zh);
            for a in &cat.attributes {
                let req = if a.required { "required" } else { "optional" };
                let values = match a.datatype {
                    Datatype::Singlevaluelist | Datatype::Multivaluelist => {
                        format!(
                            " = {}",
                            a.values
                                .iter()
                                .map(|v| v.key.as_str())
                                .collect::<Vec<_>>()
                                .join("|")
                        )
                    }
                    _ => String::new(),
                };
                let datatype = serde_json::to_value(a.datatype)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                println!("      --attr {}  ({datatype}, {req}){values}", a.code);
            }
        }
    }
    Ok(())
}
