//! `noop`: does nothing, successfully. For benchmarks and smoke tests.

use async_trait::async_trait;

use super::{Handler, HandlerError, JobContext};

pub struct Noop;

#[async_trait]
impl Handler for Noop {
    fn kind(&self) -> &'static str {
        "noop"
    }

    async fn run(&self, _ctx: JobContext) -> Result<(), HandlerError> {
        Ok(())
    }
}
