"""ecm: electronic call monitoring and contract performance for commissioned homecare."""
