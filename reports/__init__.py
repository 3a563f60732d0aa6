"""Reports: the Diagnosis (and its Evidence) rendered as Markdown, HTML, JSON and a terminal summary."""
