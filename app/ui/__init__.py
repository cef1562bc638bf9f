"""Qt widgets and thin QThread workers over the Qt-free core. Nothing outside app.ui imports from here."""
