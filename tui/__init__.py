"""Terminal UIs for caseworkers and operators; they talk to the hub over HTTP only."""
