"""What a person sees: views of a run, figures, the HTML report."""
