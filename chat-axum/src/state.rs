//! What every handler shares: the service, the host's auth hook, the socket settings.

use std::sync::Arc;

use chat_core::ChatService;

use crate::Authenticate;
use crate::ws::WsConfig;

#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub(crate) chat: ChatService,
    pub(crate) auth: Arc<dyn Authenticate>,
    pub(crate) ws: WsConfig,
}
