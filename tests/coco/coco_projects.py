"""A small project for the COCO tests: one 10x10 image with a ring and a square of label "cell"."""
import cv2
import numpy as np

from app.store import Project


def make_project(folder):
    cv2.imwrite(str(folder / "a.png"), np.zeros((10, 10), np.uint8))
    with Project.open(folder, create=True) as project:
        project.images.scan()
        label = project.labels.add("cell")
        ring = np.zeros((10, 10), bool)
        ring[1:9, 1:9] = True
        ring[4:6, 4:6] = False
        square = np.zeros((10, 10), bool)
        square[0:2, 8:10] = True
        project.instances.add(1, label.id, ring)
        project.instances.add(1, label.id, square)
