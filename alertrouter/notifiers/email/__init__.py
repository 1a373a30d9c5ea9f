"""Email: one mail thread per incident, delivered over SMTP the way Alertmanager delivers it.
`compose` renders the mail (pure), `settings` applies the `smtp_*` global fallbacks (pure),
`send` delivers it with aiosmtplib and classifies the failures."""
