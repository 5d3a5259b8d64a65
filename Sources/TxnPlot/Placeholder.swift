// Plots rendered to images: see Plot.swift.
