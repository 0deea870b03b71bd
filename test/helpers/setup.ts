// Test setup shared by every vitest project.
import 'reflect-metadata';
