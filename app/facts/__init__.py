"""Facts the concierge reasons about: opening hours, the property's clock, menus."""
