"""Review sessions outside the viewer: version stacks by name, playlists and review reports (no Qt)."""
