"""PagerDuty: one PagerDuty alert per incident, over the Events API v2. `compose` keys the
incident and renders its events (pure), `send` posts them with pdpyras and classifies the
answers."""
