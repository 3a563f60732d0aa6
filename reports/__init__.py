"""Reports: the Diagnosis (and its Evidence) as Markdown, HTML, JSON and a terminal summary."""
