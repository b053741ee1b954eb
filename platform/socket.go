package platform

import "errors"

// ErrAlreadyListening is returned by Listen when a live agent already serves the local API, so
// that `tollgate up` and `tollgate run` can tell a second start apart from a broken socket.
var ErrAlreadyListening = errors.New("another tollgate is already listening")
