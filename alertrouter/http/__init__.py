"""What the JSON API and the web pages share to serve a request: the typed application state,
the credential checks and the history's query parameters. Both packages import it; neither may
import the other."""
