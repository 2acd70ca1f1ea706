//! `mcp-oauth demo`: placeholder until the bundled test server lands.

use crate::output::Exit;

pub async fn run(_json: bool) -> Result<(), Exit> {
    Err(Exit::usage("the demo needs the bundled test server"))
}
