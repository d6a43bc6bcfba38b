"""Tables, figures and the HTML report, built from run artefacts."""
