//! Meta for a relay process: the simulator, in the test's own process, whose `debug_token` the
//! relay asks before it links a WABA to a workspace (a device's claim).

use anyhow::Result;
use dataoptix_sim::{RunningSim, SimConfig, StartupInfo};

pub struct Meta {
    pub sim: RunningSim,
}

impl Meta {
    /// A simulator that knows the tests' app secret (nothing is delivered from it).
    pub async fn start() -> Result<Self> {
        let sim = dataoptix_sim::spawn(SimConfig::for_tests(crate::APP_SECRET)).await?;
        Ok(Self { sim })
    }

    pub fn info(&self) -> &StartupInfo {
        &self.sim.info
    }

    /// A system-user token that this Meta says grants `waba`.
    pub fn grant(&self, waba: &str) -> String {
        self.sim.grant(&[waba])
    }
}
