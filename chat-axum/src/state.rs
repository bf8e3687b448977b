//! What every handler shares: the service, the host's auth hook, the socket
//! settings and the origins allowed to open a socket.

use std::sync::Arc;

use chat_engine::ChatService;

use crate::Authenticate;
use crate::origin::Origins;
use crate::ws::WsConfig;

#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub(crate) chat: ChatService,
    pub(crate) auth: Arc<dyn Authenticate>,
    pub(crate) ws: WsConfig,
    pub(crate) origins: Arc<Origins>,
}
