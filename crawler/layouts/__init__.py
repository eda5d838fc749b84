"""CMS layouts: pure functions that know where a portal keeps its links and pages."""
