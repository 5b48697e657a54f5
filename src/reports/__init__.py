"""Human-facing outputs: the suspect-label pages and the offline plots template."""
