//! Bounds how long a request may take, so a stuck query cannot hold a client (or a
//! connection slot) forever. The client gets a 503 in the usual error shape.

use std::time::Duration;

use salvo::prelude::*;

use crate::error::ApiError;

pub struct RequestTimeout(pub Duration);

#[async_trait]
impl Handler for RequestTimeout {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        if tokio::time::timeout(self.0, ctrl.call_next(req, depot, res))
            .await
            .is_err()
        {
            ctrl.skip_rest();
            ApiError::Unavailable {
                code: "request_timeout",
                message: format!(
                    "the request did not complete within {:?}; retry later",
                    self.0
                ),
            }
            .write(req, depot, res)
            .await;
        }
    }
}
