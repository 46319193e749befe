"""Reading inputs and writing outputs at the edges: scenes, AOI files, masks, pairs, change masks, JSON, output sets."""
