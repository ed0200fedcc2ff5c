"""The lowest layer: helpers every app may use. No models, and no import of any Tessera app."""
