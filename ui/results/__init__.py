"""The clinician results board: model, proxy, dialogs and page."""
