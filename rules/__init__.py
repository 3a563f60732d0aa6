"""The rule graph: symptoms, causes and the weighted edges between them, as data (``*.yaml``),
validated by ``schema``, evaluated by ``engine`` with the functions of the detector library."""
